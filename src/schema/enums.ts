import { DocumentStatus, MessageStatus, Role } from '../generated/prisma/enums.js';
import { builder } from './builder.js';

export const RoleEnum = builder.enumType(Role, { name: 'Role' });
export const MessageStatusEnum = builder.enumType(MessageStatus, { name: 'MessageStatus' });
export const DocumentStatusEnum = builder.enumType(DocumentStatus, { name: 'DocumentStatus' });
